# A jump past the last instruction.
# type: socket
# expect: reject jump out of range
    mov %r0, 0
    ja +5
    exit
