# A helper call clobbers r1-r5: reading r3 afterwards is an uninitialised read.
# type: socket
# expect: reject R3 !read_ok
    call 7
    mov %r0, %r3
    exit
