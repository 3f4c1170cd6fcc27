"""RMSProp, as taught in section 7.6 of *Dive into Deep Learning*, and as a torch optimizer.

The names follow the chapter: ``f_2d``, ``rmsprop_2d``, ``train_2d``, ``show_trace_2d``,
``get_data_ch7``, ``init_rmsprop_states``, ``rmsprop``, ``linreg``, ``squared_loss``,
``train_ch7``, ``train_pytorch_ch7``. ``RMSprop`` is a drop-in ``torch.optim.RMSprop``.
Importing the package reads no file, seeds nothing and does not import matplotlib.
"""

from .data import AIRFOIL_PATH, DataFormatError, get_data_ch7, load_airfoil
from .functional import rmsprop_update
from .optimizer import RMSprop
from .plotting import (
    plot_effective_lr,
    plot_ema_weights,
    plot_final_loss_grid,
    plot_loss_gap,
    plot_losses,
    show_trace_2d,
)
from .reporting import format_result, format_trace
from .scratch import init_rmsprop_states, rmsprop
from .trace2d import (
    Trace2D,
    adagrad_2d,
    effective_lr,
    f_2d,
    f_2d_rotated,
    grad_f_2d,
    grad_f_2d_rotated,
    rmsprop_2d,
    train_2d,
)
from .training import TrainResult, linreg, squared_loss, train_ch7, train_pytorch_ch7

__all__ = [
    "AIRFOIL_PATH",
    "DataFormatError",
    "RMSprop",
    "Trace2D",
    "TrainResult",
    "adagrad_2d",
    "effective_lr",
    "f_2d",
    "f_2d_rotated",
    "format_result",
    "format_trace",
    "get_data_ch7",
    "grad_f_2d",
    "grad_f_2d_rotated",
    "init_rmsprop_states",
    "linreg",
    "load_airfoil",
    "plot_effective_lr",
    "plot_ema_weights",
    "plot_final_loss_grid",
    "plot_loss_gap",
    "plot_losses",
    "rmsprop",
    "rmsprop_2d",
    "rmsprop_update",
    "show_trace_2d",
    "squared_loss",
    "train_2d",
    "train_ch7",
    "train_pytorch_ch7",
]
