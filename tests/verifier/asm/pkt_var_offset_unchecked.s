# A variable offset from a packet byte needs a new check.
# type: xdp
# expect: reject invalid access to packet
    ldxw %r2, [%r1+0]
    ldxw %r3, [%r1+4]
    mov %r4, %r2
    add %r4, 14
    jgt %r4, %r3, drop
    ldxb %r5, [%r2+0]
    add %r2, %r5
    ldxb %r0, [%r2+0]
drop:
    mov %r0, 2
    exit
