# A subprogram must return a number.
# type: socket
# expect: reject cannot return stack pointer to the caller
    call local f
    mov %r0, 0
    exit
f:
    mov %r0, %r10
    exit
