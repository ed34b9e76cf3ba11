# r0 is set on one path only.
# type: socket
# expect: reject R6 !read_ok
    call 7
    jeq %r0, 0, skip
    mov %r6, 1
skip:
    mov %r0, %r6
    exit
