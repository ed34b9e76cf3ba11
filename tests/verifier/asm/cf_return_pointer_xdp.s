# An XDP program returning its context pointer: root may, the unprivileged may not.
# type: xdp
# expect: accept
# strict: reject R0 leaks addr as return value
    mov %r0, %r1
    exit
