# A jump before the first instruction.
# type: socket
# expect: reject jump out of range
    mov %r0, 0
    ja -3
    exit
