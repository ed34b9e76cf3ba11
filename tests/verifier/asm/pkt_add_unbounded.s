# Adds an unbounded number to a packet pointer.
# type: xdp
# expect: reject unbounded min value
    mov %r6, %r1
    call 7
    ldxw %r2, [%r6+0]
    ldxw %r3, [%r6+4]
    add %r2, %r0
    mov %r4, %r2
    add %r4, 1
    jgt %r4, %r3, drop
    ldxb %r0, [%r2+0]
drop:
    mov %r0, 2
    exit
