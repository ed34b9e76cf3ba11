# The XDP context is read only (an immediate store).
# type: xdp
# expect: reject
    stw [%r1+0], 0
    mov %r0, 2
    exit
