#!/usr/bin/env python3
# Writes the seed corpus of the `receive` target: each input a run of
# frames (16-bit big-endian length, then the frame) from 192.168.69.2 /
# 02:00:00:00:00:02 to the stack's default address. The whole-conversation
# seeds acknowledge the stack's SYN-ACK, so they need its initial sequence
# number, the same on every run (Config::default()'s seed, first
# connection): pass it in hex, as the fuzz target's stack sends it.
# The v6-* seeds speak IPv6 between the two link-local addresses (the
# stack's from its MAC, fe80::ff:fe00:1; ours fe80::ff:fe00:2).
# Usage: fuzz/make_seeds.py fuzz/corpus/receive fdecf8a2
import struct, sys, os
VM=bytes([2,0,0,0,0,1]); AM=bytes([2,0,0,0,0,2])
V=bytes([192,168,69,1]); A=bytes([192,168,69,2])
def csum(b):
    if len(b)%2: b+=b'\0'
    s=sum(struct.unpack('!%dH'%(len(b)//2),b))
    while s>>16: s=(s&0xffff)+(s>>16)
    return (~s)&0xffff
def eth(t,p,dst=VM): return dst+AM+struct.pack('!H',t)+p
def ip(proto,p):
    h=struct.pack('!BBHHHBBH4s4s',0x45,0,20+len(p),1,0x4000,64,proto,0,A,V)
    h=h[:10]+struct.pack('!H',csum(h))+h[12:]
    return eth(0x0800,h+p)
def tcp(sp,dp,seq,ack,flags,payload=b'',opts=b''):
    off=(20+len(opts))//4
    t=struct.pack('!HHIIBBHHH',sp,dp,seq,ack,off<<4,flags,8192,0,0)+opts+payload
    c=csum(A+V+struct.pack('!BBH',0,6,len(t))+t)
    return ip(6,t[:16]+struct.pack('!H',c)+t[18:])
def udp(sp,dp,payload):
    u=struct.pack('!HHHH',sp,dp,8+len(payload),0)+payload
    c=csum(A+V+struct.pack('!BBH',0,17,len(u))+u)
    return ip(17,u[:6]+struct.pack('!H',c)+u[8:])
def icmp(data):
    m=struct.pack('!BBHHH',8,0,0,0x4c4e,1)+data
    return ip(1,m[:2]+struct.pack('!H',csum(m))+m[4:])
V6=bytes.fromhex('fe80000000000000000000fffe000001')
A6=bytes.fromhex('fe80000000000000000000fffe000002')
ALL_NODES=bytes.fromhex('ff020000000000000000000000000001')
SOLICITED=bytes.fromhex('ff0200000000000000000001ff')+V6[13:]
def ip6(nh,p,dst=V6,hops=255):
    h=struct.pack('!IHBB16s16s',6<<28,len(p),nh,hops,A6,dst)
    mac=b'\x33\x33'+dst[12:] if dst[0]==0xff else VM
    return eth(0x86dd,h+p,dst=mac)
def pseudo6(dst,nh,b): return A6+dst+struct.pack('!IxxxB',len(b),nh)+b
def icmp6(t,code,body,dst=V6):
    m=struct.pack('!BBH',t,code,0)+body
    return ip6(58,m[:2]+struct.pack('!H',csum(pseudo6(dst,58,m)))+m[4:],dst)
def tcp6(sp,dp,seq,ack,flags,opts=b''):
    off=(20+len(opts))//4
    t=struct.pack('!HHIIBBHHH',sp,dp,seq,ack,off<<4,flags,8192,0,0)+opts
    return ip6(6,t[:16]+struct.pack('!H',csum(pseudo6(V6,6,t)))+t[18:])
def udp6(sp,dp,payload):
    u=struct.pack('!HHHH',sp,dp,8+len(payload),0)+payload
    return ip6(17,u[:6]+struct.pack('!H',csum(pseudo6(V6,17,u)))+u[8:])
ns=icmp6(135,0,bytes(4)+V6+bytes([1,1])+AM,dst=SOLICITED)
prefix=bytes([3,4,64,0xc0])+struct.pack('!III',3600,1800,0)+bytes.fromhex('fd000000000000010000000000000000')
ra=icmp6(134,0,struct.pack('!BBHII',64,0,1800,0,0)+bytes([1,1])+AM+prefix,dst=ALL_NODES)
arp=eth(0x0806,struct.pack('!HHBBH',1,0x0800,6,4,1)+AM+A+bytes(6)+V,dst=b'\xff'*6)
def pack(frames): return b''.join(struct.pack('!H',len(f))+f for f in frames)
SYN,ACK,PSH,FIN=2,16,8,1
MSS=bytes([2,4,5,0xb4])
isn=int(sys.argv[2],16) if len(sys.argv)>2 else None
out=sys.argv[1]; os.makedirs(out,exist_ok=True)
seeds={
 'arp': [arp],
 'ping': [arp, icmp(b'abcdefgh'*4)],
 'syn-echo': [arp, tcp(40000,7,1000,0,SYN,opts=MSS)],
 'chat': [arp, udp(5000,6868,b'hello room')],
 'closed-udp': [arp, udp(5000,9999,b'anyone?')],
 'v6-ns': [ns],
 'v6-ping': [ns, icmp6(128,0,struct.pack('!HH',0x4c4e,1)+b'abcdefgh'*4)],
 'v6-syn-echo': [ns, tcp6(40000,7,1000,0,SYN,opts=MSS)],
 'v6-chat': [ns, udp6(5000,6868,b'hello room')],
 'v6-ra': [ra, ns],
}
if isn is not None:
    for name,port,req in [('http-get',7878,b'GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
                          ('http-put',7878,b'PUT /a HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc'),
                          ('echo-data',7,b'hello echo'),('time-echo',21566,b'line\nrest'),('greeting',1234,b'')]:
        seeds[name]=[arp, tcp(40000,port,1000,0,SYN,opts=MSS), tcp(40000,port,1001,isn+1,ACK),
                     tcp(40000,port,1001,isn+1,ACK|PSH,req), tcp(40000,port,1001+len(req),isn+1,ACK|FIN)]
for k,v in seeds.items():
    open(os.path.join(out,k),'wb').write(pack(v))
print(len(seeds))
