# An 8-byte write at -4 crosses the top of the frame.
# type: socket
# expect: reject stack
    stdw [%r10-4], 0
    mov %r0, 0
    exit
