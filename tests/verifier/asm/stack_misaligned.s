# Stack accesses must be aligned to their size.
# type: socket
# expect: reject misaligned stack access
    stdw [%r10-12], 0
    mov %r0, 0
    exit
