# A 4-byte fill of a spilled number: the bound is lost only past the low half.
# type: socket
# expect: reject unbounded min value
    call 7
    stxdw [%r10-8], %r0
    ldxdw %r3, [%r10-8]
    mov %r2, %r10
    add %r2, -32
    add %r2, %r3
    stb [%r2+0], 1
    mov %r0, 0
    exit
