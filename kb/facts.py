"""Clean a pasted forum question and detect the facts an expert would look for in it.

Pure functions on text: no index, no I/O.
"""
from __future__ import annotations

import html
import re
from dataclasses import asdict, dataclass, field
from html.parser import HTMLParser

from kb.text import normalize
from kb.versions import find_versions

# What to ask when a snippet needs a fact the question does not give (keys = content `needs`).
CLARIFYING_QUESTIONS = {
    "os_version": "Which Windows Server (or Hyper-V Server) version and edition are the hosts running?",
    "cluster": "Are the hosts in a failover cluster, or standalone?",
    "cpu_vendor": "Which CPUs do the hosts have (vendor and model, e.g. Intel Xeon E5-2600 v4 / AMD EPYC)?",
    "guest_os": "Which operating system runs inside the VM?",
    "backup_product": "Which backup product do you use (Windows Server Backup, DPM, Veeam, ...)?",
    "host_count": "How many hosts (nodes) are involved?",
    "scvmm": "Do you manage the hosts with System Center VMM (SCVMM)?",
    "error_code": "What is the exact error message, error code or event ID (with its source)?",
    "storage": "Where do the VM files live (local disks, iSCSI, Fibre Channel, SMB share, CSV)?",
    "vm_generation": "Is the VM generation 1 or generation 2?",
    "boot_media": "Does the VM start from an ISO (installation media) or from an existing virtual disk (a copied, converted or template VHDX)?",
    "network": "How are the virtual switches, NICs and VLANs set up?",
    "host_kind": "Does Windows run on a physical PC or server, or is it itself a VM (on Hyper-V, VMware, Azure...)?",
}
# The version question for an answer that holds only on Windows 10 or 11 (client Hyper-V): a PC has no
# "hosts running Windows Server".
CLIENT_VERSION_QUESTION = "Which Windows edition and version does the PC run (for example Windows 11 Pro 23H2)?"

OTHER_HYPERVISORS = {
    "VMware": r"vmware|vmotion|v-motion|esxi?\b|vsphere|vcenter|vcsa|\bevc\b|vmdk|vmfs|\.vmx\b|vsan\b|workstation pro|vmware fusion",
    "VirtualBox": r"virtual\s?box|vbox",
    "KVM": r"\bkvm\b|virtio|qemu|libvirt|virsh|ovirt|\brhv\b|\brhev\b",
    "Proxmox": r"proxmox|\bpve\b",
    "Xen": r"\bxen\b|xenserver|xcp-ng|citrix hypervisor|xencenter|xenopsd|xenguest|xe-guest-utilities",
    "Nutanix AHV": r"nutanix|\bahv\b",
    "Parallels": r"parallels desktop",
    "Kubernetes": r"kubernetes|kubectl|kubelet|\bk8s\b|\bk3s\b",
}
_OTHER_RE = {name: re.compile(p, re.I) for name, p in OTHER_HYPERVISORS.items()}

# Words that only a Hyper-V (or Microsoft virtualization / 2011 Azure) question uses. The features that
# run on the Windows hypervisor count too (WSL 2, Virtual Machine Platform, Windows Hypervisor Platform,
# Credential Guard and the other virtualization-based security, GPU partitioning): "VMware stopped working
# after I installed WSL 2" is a question about Hyper-V's hypervisor, not one for VMware's forum (blind
# readers marked a false "not Hyper-V" redirect in 11 of 61 paired drafts, 3 of them naming such a feature).
_HYPERV_RE = re.compile(
    r"hyper-?\s?v|\bvmbus|integration (?:services|components)|\bscvmm\b|\bvmm\b|\bdpm\b|"
    r"cluster shared volume|failover cluster|checkpoint|\bavhdx?\b|\bvhdx?\b|vmms|vmwp|vmcx|\bvmgs\b|"
    r"dynamic memory|generation [12] vm|vmguest|\blis\b|\bwsb\b|windows server backup|affinity group|"
    r"sql azure|windows azure|azure connect|web role|worker role|vm role|\bvsp\b|\bvsc\b|parent partition|"
    r"child partition|microsoft hypervisor|\bkvp\b|\bvm-?genid|generationid|storage spaces direct|\bs2d\b|"
    r"\b(?:set|get|new|add|remove|grant|revoke|enable|disable|move|start|stop|export|import|checkpoint|test|"
    r"measure|mount|dismount|resize|convert|optimize|merge|restore|save|suspend|resume|repair|connect|rename|"
    r"update|compare)-vm|smart paging|\bsmb ?3|vmconnect|enhanced session|discrete device assignment|\bdda\b|"
    r"shielded ?vm|host guardian|\bhgs\b|allownetlbfoteams|switch embedded teaming|windows sandbox|"
    r"\bwsl ?2\b|virtual machine platform|hypervisor ?platform|\bwhpx\b|credential guard|device guard|"
    r"memory integrity|core isolation|virtuali[sz]ation[- ]based security|hypervisorlaunchtype|"
    r"gpu partitioning|\bgpu-pv?\b|"
    # Microsoft's own tools for moving VMs onto Hyper-V, and Windows Sandbox (a Hyper-V VM): a paste about
    # them that names VMware or VirtualBox is still theirs ("the Sandbox and VMware Workstation"). Windows
    # Admin Center alone is not: it also manages AKS, Azure Local and Kubernetes.
    r"\bvm[- ]?conversion\b|virtual machine converter|\bmvmc\b|\bsandbox\b|"
    # The 0x8037xxxx range is the hypervisor's and its compute service's own ("0x80370102").
    r"\b0x8037[0-9a-f]{4}\b",
    re.I,
)
# Words of virtualization in general (any hypervisor): one is enough.
_VIRT_RE = re.compile(
    r"\bvms?\b|virtual machine|virtuali[sz]|hypervisor|\bguests?\b|quorum|quorom|witness|snapshot|replica|"
    r"\bp2v\b|\bv2v\b|domain controller|\bazure\b|live migrat|"
    r"virtual (?:disk|switch|network|nic|processor|cpu)|vcpu|\bvnic|usn rollback|"
    r"\b(?:external|internal|private) (?:virtual )?switch|"
    r"\bgen ?[12]\b|\bgeneration ?[12]\b|vswitch|vmswitch|\ba?vhdx?\b|checkpoint|vmbus|\bvmwp|\bvmms|"
    r"integration (?:services|components)|\bcsv\b|dynamic memory|\bvmq\b|\bvethernet|processor compatibility|"
    r"pass-?through disk|virtual (?:dcs?\b|domain controller)|"
    r"\b(?:get|set|new|add|remove|test|start|stop|move|suspend|resume|update|clear)-cluster|storage spaces?\b|"
    r"\bwsl ?2\b|\blbfo\b|nic teaming|\bevent\s*(?:id\s*)?(?:1069|1135|1146|1177|1194|5120|5142)\b",
    re.I,
)
# Words a Hyper-V question shares with many other subjects (Kubernetes nodes, mailbox migrations):
# they count only two kinds together ("host" and "cluster"), never one alone.
_WEAK_VIRT = {
    "host": re.compile(r"\bhosts?\b", re.I),
    "cluster": re.compile(r"\bclust", re.I),
    "node": re.compile(r"\bnodes?\b", re.I),
    "migration": re.compile(r"migrat", re.I),
    "dc": re.compile(r"\bdcs?\b", re.I),
    "storage": re.compile(r"\bsan\b|iscsi|\blun\b", re.I),
    "validation": re.compile(r"\bvalidat", re.I),
}

BACKUP_PRODUCTS = {
    "Windows Server Backup": r"windows server backup|\bwsb\b|wbadmin",
    "DPM": r"\bdpm\b|data protection manager",
    "Veeam": r"veeam",
    "Altaro": r"altaro",
    "Backup Exec": r"backup ?exec",
    "Commvault": r"commvault",
    "Acronis": r"acronis",
    "Azure Backup": r"azure backup|\bmars agent",
    "Nakivo": r"nakivo",
    "Unitrends": r"unitrends",
}
_BACKUP_RE = {name: re.compile(p, re.I) for name, p in BACKUP_PRODUCTS.items()}

GUEST_OS = [
    (r"windows server 20(?:03|08|12|16|19|22|25)(?: r2)?", None),
    # Linux (and BSD) systems by name, appliance and container-host images too (kb.conditions counts every
    # name here that is not a Windows as a Linux guest).
    (r"\b(?:ubuntu|debian|centos|rhel|red hat|(?:open)?suse|sles|rocky|alma ?linux|oracle linux|fedora|freebsd|"
     r"arch ?linux|manjaro|kali|linux mint|alpine linux|gentoo|nixos|coreos|flatcar|rancher ?os|boot2docker|"
     r"photon os|openwrt|raspbian|(?:cbl-)?mariner|slackware|elementary os|zorin os|openbsd|netbsd|pfsense|opnsense|"
     r"truenas)\b", None),
    (r"\bwindows (?:xp|7|8\.1|8|10|11|nt ?4?(?:\.0)?|2000)\b", None),
    (r"\blinux\b", "Linux"),
]
_GUEST_RE = [(re.compile(p, re.I), label) for p, label in GUEST_OS]

_STORAGE = {
    "iSCSI": r"\biscsi\b", "Fibre Channel": r"fib(?:re|er) channel|\bfc\b|\bhba\b", "SMB": r"\bsmb ?3?\b|file share",
    "CSV": r"\bcsv\b|cluster shared volume|clusterstorage", "SAN": r"\bsan\b", "SAS": r"\bsas\b",
    "local disks": r"local (?:disk|drive|storage)|\bdas\b", "Storage Spaces Direct": r"\bs2d\b|storage spaces direct",
}
_STORAGE_RE = {k: re.compile(p, re.I) for k, p in _STORAGE.items()}

_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
            "nine": 9, "ten": 10, "single": 1}
_HOSTS_RE = re.compile(r"\b(\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten|single)[\s-]*"
                       r"(?:(?:hyper-?v|windows|server|20(?:08|12|16|19|22|25)|r2|physical|new|old|dell|hp|hpe|"
                       r"lenovo|identical|clustered|standalone)[\s-]+){0,3}"
                       r"(?:node|host|server|hyper-?v host|physical server)s?\b", re.I)
_CLUSTER_YES = re.compile(r"\bclust(?:er|ered|ering)\b|\bnodes?\b|failover|\bcsv\b|quorum|quorom|witness", re.I)
_CLUSTER_NO = re.compile(r"not clustered|no cluster|without (?:a )?cluster|standalone|stand-alone|single host|"
                         r"workgroup host|non-clustered", re.I)
_ERROR_CODE_RE = re.compile(r"\b0x[0-9a-f]{6,8}\b", re.I)
_EVENT_RE = re.compile(r"\bevent\s*(?:id)?\s*[:#]?\s*(\d{2,5})\b", re.I)
_ERROR_TEXT_RE = re.compile(
    r"error[:\s]+[\"'“`]|failed with|failed while|the operation failed|error message|\berror code|"
    r"\b(?:following|this|the same|below|above) error\b|\berror (?:occurs|occurred|appears|says|shows|reads)\b|"
    r"\berror (?:is|was)\s*:|"
    # (A bounded name: "\w+Exception" backtracks over every start of a long run of letters, 4 s for 20,000 of them.)
    r"\b\w{1,100}Exception\b|\berror:\s*\n|\berror:[ \t]*[\w'\"“`]|"
    # "this is the error (that) I am getting" introduces the message; Hyper-V's own start-failure texts.
    r"\b(?:the|this|following) error (?:that |which )?(?:i|we) (?:am |are |'m |'re )?(?:get|getting|got|see|seeing)\b|"
    r"failed to start the virtual machine\b|because one of the hyper-v components is not running|"
    r"\bcould not be started because\b", re.I)
_CPU_VENDOR_RE = {"Intel": re.compile(r"\bintel\b|\bxeon\b|core i[3579]", re.I),
                  "AMD": re.compile(r"\bamd\b|\bepyc\b|opteron|ryzen|threadripper", re.I)}
_CPU_MODEL_RE = re.compile(
    r"\b(?:xeon|epyc|opteron|core i[3579])[\w\s-]{0,20}?\b(?:[ex]?\d{3,5}[a-z]*(?: v\d)?)|"
    r"\bxeon (?:e[357]|gold|silver|platinum|bronze|scalable)(?:[\s-]?\d{4,5}[a-z]*)?(?: v\d)?\b", re.I)
_GEN_RE = re.compile(r"\bgen(?:eration)?[\s-]?([12])\b", re.I)
# What a VM boots from: installation media, or a disk that already holds an OS. A paste naming both
# ("booted the ISO in rescue mode to repair the copied VHDX") settles neither.
_ISO_RE = re.compile(r"\.iso\b|\biso\b|\bdvd\b|\binstall(?:ation|er)? (?:media|medium|disc|image)\b|"
                     r"\bboot(?:ing|s|ed)? (?:from|off) (?:the |a )?(?:cd|usb stick|usb drive)\b", re.I)
_DISK_RE = re.compile(r"\b(?:cop(?:y|ied|ying)|clon(?:e|ed|ing)|convert(?:ed|ing)?|prepared|existing|template|"
                      r"sysprep(?:ped)?|moved|migrated)\b[^.\n]{0,40}\b(?:a?vhdx?|virtual (?:hard )?disk|"
                      r"disk image|vmdk)\b|\b(?:a?vhdx?|vmdk)\b[^.\n]{0,40}\b(?:cop(?:y|ied)|clon(?:e|ed)|"
                      r"convert(?:ed)?|template)\b", re.I)
# Hyper-V, WSL 2, Docker Desktop or another hypervisor-based feature run inside a VM (nested virtualization):
# firmware and BIOS answers for a physical PC do not apply. A VM that is merely a guest of Hyper-V
# ("integration services are running in the VM") does not count, so the feature words exclude bare Hyper-V.
_NESTED_FEATURE = (r"(?:docker(?: desktop)?|wsl ?2?|windows sandbox|minikube|android emulator|hyper-?v (?:role|feature)|"
                   r"(?:enabled?|install(?:ed)?) hyper-?v|hyper-?v is (?:enabled|installed))")
# A VM, named by what runs it or what it runs: "a Win10 VirtualBox VM", "a Hyper-V VM".
_A_VM = (r"(?:(?:a|an|my|the|our|this) )?(?:(?:(?:windows|win)(?: server)? ?(?:\d+(?: r2)?)?|azure|aws|ec2|cloud|"
         r"vmware|esxi|virtualbox|proxmox|kvm|hyper-?v|nested|virtuali[sz]ed|guest|enterprise|pro) ){0,4}"
         r"(?:vm|virtual machine)\b")
_HOST_VM_RE = re.compile(
    r"\bnested (?:virtuali[sz]ation|hyper-?v|vms?|hypervisor)\b|"
    r"\b" + _NESTED_FEATURE + r"\b[^.,;\n?!-]{0,30}?\b(?:in|inside|within|on|into) " + _A_VM + r"|"
    # ...or the VM first: "Windows Server 2019 Hyper-V VM has Docker installed".
    r"\b(?:vm|virtual machine) (?:has|with|running|runs) " + _NESTED_FEATURE + r"\b|"
    # An EC2 instance is a VM (a .metal one is not): what a paste runs on one runs in a guest.
    r"\bon [*_]{0,2}(?:an? |the |my |our )?(?:aws |amazon )?ec2 (?![\w.-]*metal)(?:[\w.-]+ )?instances?\b|"
    r"\brunning inside a virtuali[sz]ed windows\b[^\n]{0,60}:\s*yes\b", re.I)
# The hypervisor under such a VM, when it is not Hyper-V: "WSL2 in a Win10 VirtualBox VM", "Hyper-V inside a
# VM in VirtualBox", "a VM on VMware ESXi 6.5". Hyper-V's own nested steps (Set-VMProcessor) do not apply
# there. KVM, QEMU and Proxmox are left out: pastes run those inside Hyper-V as often as under it.
_OUTER_RE = re.compile(
    r"\b(?:in|inside|within|on|under)\s+(?:an?\s+|the\s+|my\s+|our\s+)?(?:(?:vms?|virtual machines?|guests?)\s+"
    r"(?:in|on|under)\s+|win\w*(?:\s+server)?\s*[\d.]*\s+)?(virtualbox|vmware|esxi|vsphere|parallels)\b", re.I)
_SCVMM_RE = re.compile(r"\bscvmm\b|\bvmm\b|virtual machine manager", re.I)
# An AVMA key exists only for a Windows Server guest: a paste about AVMA that names no desktop Windows is
# about Windows Server VMs (blind readers marked "Which operating system runs inside the VM?" padding in
# all six AVMA drafts that asked it: "Where are the Windows Server, version 1903 AVMA keys?").
_AVMA_RE = re.compile(r"\bavma\b|automatic virtual machine activation", re.I)
_DESKTOP_WINDOWS_RE = re.compile(r"\bwin(?:dows)? ?(?:xp|7|8\.1|8|10|11)\b", re.I)
_NETWORK_RE = re.compile(r"\bvlan|virtual switch|vswitch|external switch|\bteam(?:ing)?\b|\bnic\b|\bvmq\b", re.I)


@dataclass
class Facts:
    os_versions: list[str] = field(default_factory=list)
    cluster: bool | None = None
    host_count: int | None = None
    cpu_vendors: list[str] = field(default_factory=list)
    cpu_models: list[str] = field(default_factory=list)
    guest_os: list[str] = field(default_factory=list)
    backup_products: list[str] = field(default_factory=list)
    scvmm: bool | None = None
    error_codes: list[str] = field(default_factory=list)
    event_ids: list[str] = field(default_factory=list)
    error_text: bool = False
    vm_generation: int | None = None
    boot_media: str | None = None          # "iso" (installing from media) or "disk" (an existing VHDX); None when unclear
    guest_edition: str | None = None       # "server" or "client": which Windows the guest runs, when the paste says
    host_kind: str | None = None           # "vm" when Hyper-V or WSL 2 / Docker runs inside a VM (nested); None when unclear
    outer_hypervisor: str | None = None    # ...and the hypervisor under that VM when the paste names another ("VirtualBox")
    # "server" for a paste about AVMA that names no desktop Windows: AVMA keys exist only for Windows Server
    # guests. A presumption, not something the paste says: it settles what to ask
    # (:func:`kb.conditions.presumed_facts`), never which answer fits (the word that makes it also matches
    # the AVMA answer, so as evidence it would count twice: used as a fact, it answered a not-covered AVMA
    # question at 0.81).
    presumed_guest_edition: str | None = None
    storage: list[str] = field(default_factory=list)
    network: bool = False
    other_hypervisors: list[str] = field(default_factory=list)
    mentions_hyperv: bool = False          # Hyper-V-only words (VMBus, SCVMM, checkpoint, VHDX, ...)
    mentions_virtualization: bool = False  # words of any hypervisor or cluster (VM, host, quorum, ...)

    @property
    def os_version(self) -> str | None:
        return self.os_versions[0] if self.os_versions else None

    def has(self, need: str) -> bool:
        """Whether the question already gives the fact a snippet ``need`` asks for."""
        return {
            "os_version": bool(self.os_versions),
            "cluster": self.cluster is not None,
            "cpu_vendor": bool(self.cpu_vendors or self.cpu_models),
            "guest_os": bool(self.guest_os),
            "backup_product": bool(self.backup_products),
            "host_count": self.host_count is not None,
            "scvmm": self.scvmm is not None,
            "error_code": bool(self.error_codes or self.event_ids or self.error_text),
            "storage": bool(self.storage),
            "vm_generation": self.vm_generation is not None,
            "boot_media": self.boot_media is not None,
            "host_kind": self.host_kind is not None,
            "network": self.network,
        }.get(need, True)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["os_version"] = self.os_version
        return d


def _role_of(name: str, text: str) -> str | None:
    """"guest" when the paste names ``name`` as a VM's system ("a Windows 10 VM", "a VM with Windows 11"),
    "host" when as the host's ("Windows Server 2016 host", "Host: R630 running Windows Server 2019"), else None."""
    n = re.escape(name)
    after = rf"\b{n}(?:[ \t]+(?:pro|enterprise|education|home|standard|datacenter|[\w.]*\d[\w.]*)){{0,2}}[ \t]+"
    if re.search(after + r"(?:vms?|guests?|virtual machines?)\b|\b(?:vms?|virtual machines?|guests?)(?:[ \t]+os)?"
                 r"[ \t]+(?:with|running|runs|is)[ \t]+(?:an?[ \t]+)?" + n, text, re.I):
        return "guest"
    if re.search(after + r"(?:hosts?|hypervisors?|physical)\b|\bhosts?\b(?:[ \t:]+[\w-]+){0,4}?[ \t]+"
                 r"(?:runs?|running|with|on|is)[ \t]+" + n, text, re.I):
        return "host"
    return None


def detect_facts(text: str) -> Facts:
    """Find versions, cluster, hosts, CPUs, guests, backup products, errors and more in a question."""
    f = Facts()
    f.os_versions = find_versions(text)
    if _CLUSTER_NO.search(text):
        f.cluster = False
    elif _CLUSTER_YES.search(text):
        f.cluster = True
    m = _HOSTS_RE.search(text)
    if m:
        n = m.group(1).lower()
        f.host_count = int(n) if n.isdigit() else _NUMBERS.get(n)
    f.cpu_vendors = [v for v, r in _CPU_VENDOR_RE.items() if r.search(text)]
    f.cpu_models = list(dict.fromkeys(m.group(0).strip() for m in _CPU_MODEL_RE.finditer(text)))
    named: list[str] = []
    for rx, label in _GUEST_RE:
        for m in rx.finditer(text):
            name = label or m.group(0)
            if name.lower() not in (g.lower() for g in named):
                named.append(name)
    role = {g: _role_of(g, text) for g in named if g.lower().startswith("windows")}
    if len(role) > 1 and ("guest" in role.values() or "host" in role.values()):
        # The paste says which is which ("a Windows Server 2022 VM on Windows 11 Pro"): a Windows named
        # as a VM's is the guest, one named as the host's is not, whichever version is listed first.
        marked = "guest" in role.values()
        f.guest_os = [g for g in named if role.get(g, "guest") == "guest" or (role.get(g) is None and not marked)]
    else:
        # A server version named as the host's (the first version named) is not the guest's.
        first = f.os_versions[0].lower() if f.os_versions else ""
        guests = [g for g in named if not (g.lower().startswith("windows server") and g.lower() in first)]
        # The host's own Windows listed beside another system is the host, not a guest: "Windows 10 ...
        # RHEL VM" is a Linux guest on a Windows 10 PC.
        others = [g for g in guests if g.lower() != first]
        f.guest_os = others if others and len(others) < len(guests) else guests
    # A lone "Windows 11" is as often the PC Hyper-V runs on as a VM: its edition is the guest's only when
    # the paste names it as a VM's or names the host's Windows beside it.
    editions = {"server" if g.lower().startswith("windows server") else "client"
                for g in f.guest_os if g.lower().startswith("windows")}
    linux = any(not g.lower().startswith("windows") for g in f.guest_os)
    if len(editions) == 1 and not linux and (len(role) > 1 or "guest" in role.values()):
        f.guest_edition = editions.pop()
    if f.guest_edition is None and not linux and _AVMA_RE.search(text) and not _DESKTOP_WINDOWS_RE.search(text):
        f.presumed_guest_edition = "server"
    f.backup_products = [name for name, r in _BACKUP_RE.items() if r.search(text)]
    f.scvmm = True if _SCVMM_RE.search(text) else None
    f.error_codes = list(dict.fromkeys(c.lower() for c in _ERROR_CODE_RE.findall(text)))
    f.event_ids = list(dict.fromkeys(_EVENT_RE.findall(text)))
    f.error_text = bool(_ERROR_TEXT_RE.search(text))
    g = _GEN_RE.search(text)
    f.vm_generation = int(g.group(1)) if g else None
    iso, disk = bool(_ISO_RE.search(text)), bool(_DISK_RE.search(text))
    f.boot_media = "iso" if iso and not disk else "disk" if disk and not iso else None
    f.host_kind = "vm" if _HOST_VM_RE.search(text) else None
    if f.host_kind == "vm":
        m = _OUTER_RE.search(text)
        if m:
            f.outer_hypervisor = next((n for n, r in _OTHER_RE.items() if r.search(m.group(1))), m.group(1))
    f.storage = [k for k, r in _STORAGE_RE.items() if r.search(text)]
    f.network = bool(_NETWORK_RE.search(text))
    f.other_hypervisors = [name for name, r in _OTHER_RE.items() if r.search(text)]
    f.mentions_hyperv = bool(_HYPERV_RE.search(text))
    f.mentions_virtualization = (f.mentions_hyperv or bool(_VIRT_RE.search(text))
                                 or sum(1 for r in _WEAK_VIRT.values() if r.search(text)) >= 2)
    return f


# --------------------------------------------------------------------------- cleaning

class _TextExtractor(HTMLParser):
    SKIP = {"script", "style", "head", "noscript", "template"}
    BLOCK = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote", "table"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0
        self._quote = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self._skip += 1
        if tag == "blockquote":
            self._quote += 1
        if tag in self.BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in self.SKIP and self._skip:
            self._skip -= 1
        if tag == "blockquote" and self._quote:
            self._quote -= 1
        if tag in self.BLOCK:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self._skip and not self._quote:
            self.parts.append(data)


_HTML_HINT = re.compile(r"<(?:html|body|div|p|br|span|table|blockquote|a\s|b>|strong|script|style)\b", re.I)
_GREETING = re.compile(r"^\s*(?:hi|hello|hey|dear|good (?:morning|afternoon|evening)|greetings|hiya|yo)\b[^\n]{0,40}$",
                       re.I)
_SIGNOFF = re.compile(r"^\s*(?:thanks?|thank you|thx|tia|cheers|regards|best regards|kind regards|br|"
                      r"many thanks|much appreciated|sincerely|--+)\b[^\n]{0,60}$", re.I)
# ("From: <sender>" opens a mail reply; "From: https://..." names where a quoted passage comes from.)
_QUOTE_HEAD = re.compile(r"^\s*(?:on .{5,80} wrote:|-{2,}\s*original message\s*-{2,}|from: (?!.*\bhttps?://).+|"
                         r"quote:?|\[quote[^\]]*\])\s*$", re.I)


def strip_html(text: str) -> str:
    """Text of an HTML paste (scripts, styles and blockquotes dropped); plain text passes through."""
    if not _HTML_HINT.search(text):
        return text
    parser = _TextExtractor()
    parser.feed(text)
    parser.close()
    return html.unescape("".join(parser.parts))


def clean_question(text: str) -> str:
    """Drop greetings, sign-offs and signatures, quoted replies and HTML; keep errors, IDs and versions.

    A quoted reply opens with its header ("On Tue, Bob wrote:", "-----Original Message-----"), marked
    with ">" or not. Other lines marked with ">" are Markdown blockquotes, and in a forum or GitHub paste
    they hold what the asker is showing: the error a tool printed, the documentation sentence they
    question. They stay, marker and all (:mod:`kb.focus` reads a quoted line as a quoted message).
    """
    text = strip_html(normalize(text))
    lines = [ln.rstrip() for ln in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    kept: list[str] = []
    # In a quoted reply: ">" when its header was marked (the reply ends at the first unmarked line),
    # "head" when it was not (the reply ends at a blank line).
    reply = ""
    for ln in lines:
        marked = ln.lstrip().startswith(">")
        if _QUOTE_HEAD.match(ln.lstrip(" \t>") if marked else ln):
            reply = ">" if marked else "head"
            continue
        if reply == ">" and not marked:
            reply = ""
        if reply:
            if not ln.strip():
                reply = ""
            continue
        kept.append(ln)
    # Greeting at the top: "Hi all," alone on a line, or at the start of the first line.
    while kept and (not kept[0].strip() or _GREETING.match(kept[0])):
        kept.pop(0)
    if kept:
        kept[0] = re.sub(r"^\s*(?:hi|hello|hey|dear)\b(?: (?:all|everyone|guys|folks|team|experts))?[,!.:]?\s+",
                         "", kept[0], flags=re.I)
    # Sign-off near the end: everything from "Thanks," (in the last few lines) on is a signature.
    for i in range(len(kept) - 1, max(-1, len(kept) - 6), -1):
        if _SIGNOFF.match(kept[i]):
            kept = kept[:i]
            break
    out = "\n".join(kept).strip()
    return re.sub(r"\n{3,}", "\n\n", out)
