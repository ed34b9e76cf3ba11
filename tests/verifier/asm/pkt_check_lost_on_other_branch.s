# The range is known only on the checked branch.
# type: xdp
# expect: reject invalid access to packet
    ldxw %r2, [%r1+0]
    ldxw %r3, [%r1+4]
    mov %r4, %r2
    add %r4, 14
    jgt %r4, %r3, drop
    mov %r0, 2
    exit
drop:
    ldxb %r0, [%r2+0]
    exit
