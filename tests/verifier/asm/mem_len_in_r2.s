# r2 holds the buffer length.
# type: mem
# mem_size: 64
# expect: accept
    mov %r0, %r2
    jgt %r0, 64, bad
    exit
bad:
    mov %r0, 0
    exit
