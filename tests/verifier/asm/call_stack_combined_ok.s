# Three frames of 256 + 192 + 64 bytes.
# type: socket
# expect: accept
    stdw [%r10-256], 0
    call local f1
    mov %r0, 0
    exit
f1:
    stdw [%r10-192], 0
    call local f2
    exit
f2:
    stdw [%r10-64], 0
    mov %r0, 0
    exit
