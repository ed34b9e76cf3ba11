# A checked packet pointer spilled to the stack keeps its range.
# type: xdp
# expect: accept
    ldxw %r2, [%r1+0]
    ldxw %r3, [%r1+4]
    mov %r4, %r2
    add %r4, 14
    jgt %r4, %r3, drop
    stxdw [%r10-8], %r2
    ldxdw %r5, [%r10-8]
    ldxb %r0, [%r5+13]
drop:
    mov %r0, 2
    exit
