# A stack pointer moved by an unbounded number.
# type: socket
# expect: reject unbounded min value
    call 7
    mov %r2, %r10
    add %r2, %r0
    stb [%r2+0], 1
    mov %r0, 0
    exit
