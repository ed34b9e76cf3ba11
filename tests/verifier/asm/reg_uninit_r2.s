# Reads r2, which a socket filter does not receive.
# type: socket
# expect: reject R2 !read_ok
    mov %r0, %r2
    exit
