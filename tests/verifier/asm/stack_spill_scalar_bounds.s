# A bounded number survives a spill and a fill, and bounds the access.
# type: socket
# expect: accept
    call 7
    and %r0, 15
    stxdw [%r10-8], %r0
    ldxdw %r3, [%r10-8]
    mov %r2, %r10
    add %r2, -32
    add %r2, %r3
    stb [%r2+0], 1
    mov %r0, 0
    exit
