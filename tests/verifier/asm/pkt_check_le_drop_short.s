# Packet check `if data_end <= data + 14 goto drop`, then reads bytes 12-15, past the proven 14 (or 15).
# type: xdp
# expect: reject invalid access to packet
    ldxw %r2, [%r1+0]
    ldxw %r3, [%r1+4]
    mov %r4, %r2
    add %r4, 14
    jle %r3, %r4, drop
    ldxw %r0, [%r2+12]
    mov %r0, 2
    exit
drop:
    mov %r0, 1
    exit
