# Code no path reaches.
# type: socket
# expect: reject unreachable insn
    mov %r0, 0
    exit
    mov %r0, 1
    exit
