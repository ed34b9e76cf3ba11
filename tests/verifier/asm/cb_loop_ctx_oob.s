# The callback writes past the 8 bytes its context points to.
# type: socket
# expect: reject invalid write to stack
    stdw [%r10-8], 0
    mov %r1, 10
    lddw %r2, func(cb)
    mov %r3, %r10
    add %r3, -8
    mov %r4, 0
    call 181
    mov %r0, 0
    exit
cb:
    stdw [%r2+8], 1
    mov %r0, 0
    exit
