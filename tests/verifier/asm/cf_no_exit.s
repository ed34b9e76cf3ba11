# A jump to itself and no exit anywhere.
# type: socket
# expect: reject program has no exit instruction
    mov %r0, 0
l:
    ja l
