# Division by a register is defined (by zero: 0) and allowed.
# type: socket
# expect: accept
    call 7
    mov %r6, %r0
    call 7
    div %r6, %r0
    mod %r6, %r0
    mov %r0, %r6
    exit
