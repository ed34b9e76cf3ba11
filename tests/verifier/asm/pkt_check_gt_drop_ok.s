# Packet check `if data + 14 > data_end goto drop`, then reads byte 13, inside the proven range.
# type: xdp
# expect: accept
    ldxw %r2, [%r1+0]
    ldxw %r3, [%r1+4]
    mov %r4, %r2
    add %r4, 14
    jgt %r4, %r3, drop
    ldxb %r0, [%r2+13]
    mov %r0, 2
    exit
drop:
    mov %r0, 1
    exit
