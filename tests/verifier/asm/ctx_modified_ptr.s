# The context pointer plus a constant cannot be dereferenced.
# type: xdp
# expect: reject dereference of modified ctx ptr
    mov %r2, %r1
    add %r2, 4
    ldxw %r0, [%r2+0]
    mov %r0, 2
    exit
