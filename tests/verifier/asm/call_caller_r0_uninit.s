# r0 of a callee that never set it.
# type: socket
# expect: reject R0 !read_ok
    call local f
    exit
f:
    exit
