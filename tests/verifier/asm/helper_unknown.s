# Helper 9999 does not exist.
# type: socket
# expect: reject invalid func unknown#9999
    call 9999
    mov %r0, 0
    exit
