from ._core import __version__, get_num_threads, set_num_threads
from . import backend
from .backend import set_backend
from . import random
from .tensor import Tensor, Variable, enable_grad, is_grad_enabled, no_grad
from .function import Function
from .gradcheck import GradcheckError, gradcheck
from . import ops
