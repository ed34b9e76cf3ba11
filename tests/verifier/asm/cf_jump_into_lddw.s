# A jump into the second half of an ld_imm64.
# type: socket
# expect: reject ld_imm64
    ja +1
    lddw %r0, 1
    exit
