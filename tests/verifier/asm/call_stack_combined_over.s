# Three frames of 256 + 256 + 64 bytes of stack: more than 512 together.
# type: socket
# expect: reject combined stack size
    stdw [%r10-256], 0
    call local f1
    mov %r0, 0
    exit
f1:
    stdw [%r10-256], 0
    call local f2
    exit
f2:
    stdw [%r10-64], 0
    mov %r0, 0
    exit
