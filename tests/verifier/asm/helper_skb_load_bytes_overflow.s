# 16 bytes into an 8-byte stack buffer.
# type: socket
# expect: reject invalid write to stack
    mov %r2, 0
    mov %r3, %r10
    add %r3, -8
    mov %r4, 16
    call 26
    mov %r0, 0
    exit
