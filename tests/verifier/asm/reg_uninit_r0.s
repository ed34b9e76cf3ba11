# Exit without setting r0.
# type: socket
# expect: reject R0 !read_ok
    exit
