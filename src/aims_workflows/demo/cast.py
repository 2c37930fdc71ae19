"""The demo's organisation: people in roles and three AI systems."""

from __future__ import annotations

from ..config import AimsConfig, KpiTargets, SoaConfig, SoaControl
from ..inventory import AISystemRecord

__all__ = ["CONFIG", "SYSTEMS", "NAMES"]

NAMES = {
    "ana.silva@example.com": "Ana (AIMS owner)",
    "rui.costa@example.com": "Rui (risk owner)",
    "carla.mendes@example.com": "Carla (CEO)",
    "tomas.reis@example.com": "Tomás (COO)",
    "hugo.neves@example.com": "Hugo (CISO)",
    "eva.lopes@example.com": "Eva (ML engineer)",
    "samuel.pinto@example.com": "Samuel (data engineer)",
    "ines.faria@example.com": "Inês (internal auditor)",
    "dora.vaz@example.com": "Dora (DPO)",
    "leo.matos@example.com": "Leo (legal)",
    "olga.nunes@example.com": "Olga (chatbot owner)",
    "marco.dias@example.com": "Marco (credit model owner)",
    "priya.rao@example.com": "Priya (recruiting owner)",
}

CONFIG = AimsConfig(
    organisation="Example Bank",
    roles={
        "top_management": ["carla.mendes@example.com", "tomas.reis@example.com"],
        "aims_owner": ["ana.silva@example.com"],
        "risk_owner": ["rui.costa@example.com"],
        "ciso": ["hugo.neves@example.com"],
        "engineer": ["eva.lopes@example.com", "samuel.pinto@example.com"],
        "internal_auditor": ["ines.faria@example.com"],
        "data_protection_officer": ["dora.vaz@example.com"],
        "legal_counsel": ["leo.matos@example.com"],
    },
    kpi_targets=KpiTargets(),
    soa=SoaConfig(
        controls={
            "A.2.2": SoaControl(
                implementation=(
                    "AI policy v2, approved by the board in March (policy library, AIMS-POL-001)"
                )
            ),
            "A.3.3": SoaControl(
                implementation=(
                    "Concerns are raised through the ethics hotline (procedure AIMS-PRO-007)"
                )
            ),
        }
    ),
)

SYSTEMS = [
    AISystemRecord(
        name="Support chatbot",
        owner="olga.nunes@example.com",
        business_purpose=(
            "Answers retail customers' questions about accounts and cards, hands "
            "over to an agent on request"
        ),
        model_type="hosted large language model with retrieval",
        data_sources=["help-centre articles", "product terms"],
        outputs="chat answers with links to sources",
        users="retail customers",
        deployment_scale="public",
        dependencies=["LLM provider API", "search index"],
        lifecycle_stage="deployed",
        risk_tier="limited",
        in_scope=True,
        jurisdictions=["EU", "UK"],
    ),
    AISystemRecord(
        name="Credit scoring model",
        owner="marco.dias@example.com",
        business_purpose="Scores consumer loan applications to support the underwriter's decision",
        model_type="gradient-boosted trees",
        data_sources=["application form", "credit bureau", "transaction history"],
        outputs="score 0-1000 and top reasons",
        users="underwriters",
        deployment_scale="broad",
        dependencies=["credit bureau API", "feature store"],
        lifecycle_stage="deployed",
        risk_tier="high",
        in_scope=True,
        jurisdictions=["EU"],
    ),
    AISystemRecord(
        name="CV screening assistant",
        owner="priya.rao@example.com",
        business_purpose=(
            "Ranks job applications for recruiters; a recruiter reviews every shortlist"
        ),
        model_type="fine-tuned text classifier",
        data_sources=["applicant CVs", "job descriptions"],
        outputs="ranked shortlist with match explanations",
        users="recruiters",
        deployment_scale="internal",
        dependencies=["ATS integration"],
        lifecycle_stage="validation",
        risk_tier="high",
        in_scope=True,
        jurisdictions=["EU", "UK"],
    ),
]
