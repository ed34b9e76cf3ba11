# An 8-byte atomic add at offset 6 of the buffer: atomics must be aligned.
# type: mem
# mem_size: 64
# expect: reject misaligned
    mov %r2, 1
    lock add [%r1+6], %r2
    mov %r0, 0
    exit
