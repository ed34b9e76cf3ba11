# r6-r9 survive a helper call.
# type: socket
# expect: accept
    mov %r6, 1
    call 7
    mov %r0, %r6
    exit
