# A helper argument that was never set.
# type: xdp
# expect: reject R2 !read_ok
    call 44
    mov %r0, 2
    exit
