# Packet check `if data + 14 >= data_end goto drop`, then reads bytes 12-15, past the proven 14 (or 15).
# type: xdp
# expect: reject invalid access to packet
    ldxw %r2, [%r1+0]
    ldxw %r3, [%r1+4]
    mov %r4, %r2
    add %r4, 14
    jge %r4, %r3, drop
    ldxw %r0, [%r2+12]
    mov %r0, 2
    exit
drop:
    mov %r0, 1
    exit
