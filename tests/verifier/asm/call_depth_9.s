# Nine frames.
# type: socket
# expect: reject the call stack of 9 frames is too deep
    stdw [%r10-8], 0
    call local f1
    mov %r0, 0
    exit
f1:
    stdw [%r10-8], 0
    call local f2
    mov %r0, 0
    exit
f2:
    stdw [%r10-8], 0
    call local f3
    mov %r0, 0
    exit
f3:
    stdw [%r10-8], 0
    call local f4
    mov %r0, 0
    exit
f4:
    stdw [%r10-8], 0
    call local f5
    mov %r0, 0
    exit
f5:
    stdw [%r10-8], 0
    call local f6
    mov %r0, 0
    exit
f6:
    stdw [%r10-8], 0
    call local f7
    mov %r0, 0
    exit
f7:
    stdw [%r10-8], 0
    call local f8
    mov %r0, 0
    exit
f8:
    stdw [%r10-8], 0
    mov %r0, 0
    exit
