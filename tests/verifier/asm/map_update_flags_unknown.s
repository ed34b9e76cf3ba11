# The flags argument must be initialised.
# type: xdp
# map: hash key=4 value=8 entries=16
# expect: reject R4 !read_ok
    stw [%r10-4], 1
    stdw [%r10-16], 2
    mov %r2, %r10
    add %r2, -4
    mov %r3, %r10
    add %r3, -16
    lddw %r1, map_idx(0)
    call 2
    mov %r0, 2
    exit
