"""kernel_model: a deterministic, in-process model of SerenityOS's memory and process kernel.

Import the facade from here; the model imports neither FUSE nor trio.
"""
from .allocation_strategy import AllocationStrategy
from .kernel import AccessResult, Kernel, ProcessObserver
from .kernel_error import KernelError
from .kernel_event import KernelEvent
from .process import Process, ProcessState
from .sim_clock import SimClock

__all__ = ["AccessResult", "AllocationStrategy", "Kernel", "KernelError", "KernelEvent", "Process",
           "ProcessObserver", "ProcessState", "SimClock"]
