# Writes above the frame pointer.
# type: socket
# expect: reject invalid write to stack
    stdw [%r10+0], 0
    mov %r0, 0
    exit
