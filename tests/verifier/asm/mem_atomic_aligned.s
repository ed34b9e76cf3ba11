# An 8-byte atomic add at offset 8 of the buffer.
# type: mem
# mem_size: 64
# expect: accept
    mov %r2, 1
    lock add [%r1+8], %r2
    mov %r0, 0
    exit
