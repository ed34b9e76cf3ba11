# A byte written over a spilled pointer turns the slot into data: the fill is a number.
# type: socket
# expect: reject invalid mem access
    stxdw [%r10-8], %r1
    stb [%r10-8], 0
    ldxdw %r2, [%r10-8]
    ldxw %r0, [%r2+0]
    exit
