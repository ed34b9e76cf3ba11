# Counts the primes below 10000 by trial division, with a local call per candidate.
    mov %r6, 2
    mov %r7, 0
next:
    jge %r6, 10000, done
    mov %r1, %r6
    call local is_prime
    add %r7, %r0
    add %r6, 1
    ja next
done:
    mov %r0, %r7
    exit
# r0 = 1 when r1 is prime
is_prime:
    mov %r2, 2
try:
    mov %r3, %r2
    mul %r3, %r2
    jgt %r3, %r1, prime
    mov %r4, %r1
    mod %r4, %r2
    jeq %r4, 0, composite
    add %r2, 1
    ja try
prime:
    mov %r0, 1
    exit
composite:
    mov %r0, 0
    exit
