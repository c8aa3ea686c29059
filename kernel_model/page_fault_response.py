"""PageFaultResponse (Kernel/VM/PageFaultResponse.h): what a fault handler tells the trap code."""
from enum import Enum


class PageFaultResponse(Enum):
    CONTINUE = "continue"
    SHOULD_CRASH = "should_crash"    # SIGSEGV (access violation)
    OUT_OF_MEMORY = "out_of_memory"  # the faulting process is killed, no handler consulted
