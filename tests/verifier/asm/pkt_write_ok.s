# XDP programs may write the packet.
# type: xdp
# expect: accept
    ldxw %r2, [%r1+0]
    ldxw %r3, [%r1+4]
    mov %r4, %r2
    add %r4, 14
    jgt %r4, %r3, drop
    stb [%r2+0], 0xff
    stxh [%r2+12], %r4
drop:
    mov %r0, 2
    exit
