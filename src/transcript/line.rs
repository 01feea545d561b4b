//! The shape of one transcript line as serde sees it: borrowed, lenient, and
//! limited to the fields observatory reads. Everything else is skipped by
//! serde (and kept in the raw line).

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::lenient::{Field, KeyCount, List, Measured, Num, Obj, Str};

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
pub struct Line<'a> {
    #[serde(borrow, rename = "type")]
    pub kind: Str<'a>,
    #[serde(borrow)]
    pub subtype: Str<'a>,
    #[serde(borrow)]
    pub uuid: Str<'a>,
    #[serde(borrow)]
    pub parent_uuid: Str<'a>,
    #[serde(borrow)]
    pub logical_parent_uuid: Str<'a>,
    #[serde(borrow)]
    pub session_id: Str<'a>,
    #[serde(borrow)]
    pub timestamp: Str<'a>,
    #[serde(borrow)]
    pub cwd: Str<'a>,
    #[serde(borrow)]
    pub git_branch: Str<'a>,
    #[serde(borrow)]
    pub version: Str<'a>,
    #[serde(borrow)]
    pub slug: Str<'a>,
    #[serde(borrow)]
    pub agent_id: Str<'a>,
    #[serde(borrow)]
    pub permission_mode: Str<'a>,
    #[serde(borrow, rename = "toolUseID")]
    pub tool_use_id: Str<'a>,
    #[serde(borrow, rename = "parentToolUseID")]
    pub parent_tool_use_id: Str<'a>,
    pub is_sidechain: Field<bool>,
    pub is_meta: Field<bool>,
    pub is_compact_summary: Field<bool>,
    pub is_api_error_message: Field<bool>,
    pub api_error_status: Field<Num>,
    #[serde(borrow)]
    pub error: Str<'a>,
    #[serde(borrow)]
    pub message: Obj<Message<'a>>,
    /// system text, queue-operation prompt (string or blocks)
    #[serde(borrow)]
    pub content: Content<'a>,
    #[serde(borrow)]
    pub level: Str<'a>,

    // system subtypes
    #[serde(borrow)]
    pub compact_metadata: Obj<CompactMeta<'a>>,
    pub duration_ms: Field<Num>,
    pub message_count: Field<Num>,
    pub retry_in_ms: Field<Num>,
    pub retry_attempt: Field<Num>,
    pub max_retries: Field<Num>,
    #[serde(borrow)]
    pub hook_infos: List<Obj<HookInfo<'a>>>,
    #[serde(borrow)]
    pub hook_errors: List<Str<'a>>,
    pub prevented_continuation: Field<bool>,
    #[serde(borrow)]
    pub stop_reason: Str<'a>,

    // progress
    #[serde(borrow)]
    pub data: Obj<ProgressData<'a>>,
    // attachment
    #[serde(borrow)]
    pub attachment: Obj<Attachment<'a>>,
    // queue-operation
    #[serde(borrow)]
    pub operation: Str<'a>,
    // summary
    #[serde(borrow)]
    pub summary: Str<'a>,
    #[serde(borrow)]
    pub leaf_uuid: Str<'a>,
    // file-history-snapshot
    #[serde(borrow)]
    pub message_id: Str<'a>,
    #[serde(borrow)]
    pub snapshot: Obj<Snapshot<'a>>,
    pub is_snapshot_update: Field<bool>,
    // session metadata lines
    #[serde(borrow)]
    pub custom_title: Str<'a>,
    #[serde(borrow)]
    pub ai_title: Str<'a>,
    #[serde(borrow)]
    pub tag: Str<'a>,
    #[serde(borrow)]
    pub last_prompt: Str<'a>,
    #[serde(borrow)]
    pub mode: Str<'a>,
    #[serde(borrow)]
    pub agent_name: Str<'a>,
    #[serde(borrow)]
    pub agent_color: Str<'a>,
    #[serde(borrow)]
    pub pr_url: Str<'a>,
    #[serde(borrow)]
    pub frame_url: Str<'a>,
    #[serde(borrow)]
    pub relocated_cwd: Str<'a>,
    #[serde(borrow)]
    pub worktree_session: Obj<WorktreeSession<'a>>,
    // a subagent's sidecar (`agent-<id>.meta.json`): no `type`
    #[serde(borrow)]
    pub agent_type: Str<'a>,
    #[serde(borrow)]
    pub description: Str<'a>,
    #[serde(borrow, rename = "toolUseId")]
    pub spawned_by: Str<'a>,
    // user tool results
    #[serde(borrow)]
    pub tool_use_result: Obj<ToolUseResult<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct Message<'a> {
    #[serde(borrow)]
    pub id: Str<'a>,
    #[serde(borrow)]
    pub model: Str<'a>,
    #[serde(borrow)]
    pub role: Str<'a>,
    #[serde(borrow)]
    pub stop_reason: Str<'a>,
    #[serde(borrow)]
    pub usage: Obj<Usage<'a>>,
    #[serde(borrow)]
    pub content: Content<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct Usage<'a> {
    pub input_tokens: Field<Num>,
    pub output_tokens: Field<Num>,
    pub cache_creation_input_tokens: Field<Num>,
    pub cache_read_input_tokens: Field<Num>,
    pub cache_creation: CacheCreation,
    pub server_tool_use: Obj<ServerToolUse>,
    #[serde(borrow)]
    pub service_tier: Str<'a>,
    #[serde(borrow)]
    pub speed: Str<'a>,
    #[serde(borrow)]
    pub inference_geo: Str<'a>,
}

/// `usage.cache_creation`: the 5m/1h split, and how many keys the object had
/// (the split is used only when it is an object with a number in one of
/// the two).
#[derive(Default)]
pub struct CacheCreation {
    pub keys: usize,
    pub ephemeral_5m: Field<Num>,
    pub ephemeral_1h: Field<Num>,
    pub is_object: bool,
}

impl<'de> Deserialize<'de> for CacheCreation {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = CacheCreation;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<CacheCreation, A::Error> {
                let mut out = CacheCreation {
                    is_object: true,
                    ..Default::default()
                };
                while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                    out.keys += 1;
                    match key.as_ref() {
                        "ephemeral_5m_input_tokens" => out.ephemeral_5m = map.next_value()?,
                        "ephemeral_1h_input_tokens" => out.ephemeral_1h = map.next_value()?,
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(out)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<CacheCreation, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(CacheCreation::default())
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<CacheCreation, E> {
                Ok(CacheCreation::default())
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<CacheCreation, E> {
                Ok(CacheCreation::default())
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<CacheCreation, E> {
                Ok(CacheCreation::default())
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<CacheCreation, E> {
                Ok(CacheCreation::default())
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<CacheCreation, E> {
                Ok(CacheCreation::default())
            }
            fn visit_unit<E: de::Error>(self) -> Result<CacheCreation, E> {
                Ok(CacheCreation::default())
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ServerToolUse {
    pub web_search_requests: Field<Num>,
    pub web_fetch_requests: Field<Num>,
}

/// `message.content` (and a few top-level `content` fields): a string, an
/// array of blocks, or something else.
#[derive(Default)]
pub enum Content<'a> {
    #[default]
    None,
    Text(Cow<'a, str>),
    Blocks(Vec<Block<'a>>),
    Other,
}

impl<'de: 'a, 'a> Deserialize<'de> for Content<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Content<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Content::Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Content::Text(Cow::Owned(v.to_owned())))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(b) = seq.next_element::<Obj<Block<'a>>>()? {
                    out.push(b.into_inner().unwrap_or_default());
                }
                Ok(Content::Blocks(out))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Content::Other)
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Content::Other)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Content::Other)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Content::Other)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Content::Other)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Content::None)
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct Block<'a> {
    #[serde(borrow, rename = "type")]
    pub kind: Str<'a>,
    #[serde(borrow)]
    pub id: Str<'a>,
    #[serde(borrow)]
    pub name: Str<'a>,
    #[serde(borrow)]
    pub input: Obj<ToolInput<'a>>,
    #[serde(borrow)]
    pub tool_use_id: Str<'a>,
    pub is_error: Field<bool>,
    #[serde(borrow)]
    pub text: Str<'a>,
    pub thinking: Measured,
    pub content: Measured,
    pub source: Measured,
}

/// The fields of a tool call's input that observatory summarises.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ToolInput<'a> {
    #[serde(borrow)]
    pub file_path: Str<'a>,
    #[serde(borrow)]
    pub notebook_path: Str<'a>,
    #[serde(borrow)]
    pub path: Str<'a>,
    #[serde(borrow)]
    pub command: Str<'a>,
    #[serde(borrow)]
    pub pattern: Str<'a>,
    #[serde(borrow)]
    pub description: Str<'a>,
    #[serde(borrow)]
    pub url: Str<'a>,
    #[serde(borrow)]
    pub query: Str<'a>,
    #[serde(borrow)]
    pub skill: Str<'a>,
    #[serde(borrow)]
    pub subagent_type: Str<'a>,
    /// ExitPlanMode
    #[serde(borrow)]
    pub plan: Str<'a>,
    /// SendMessage: to whom (`recipient` in teams' messages), and its summary
    #[serde(borrow)]
    pub to: Str<'a>,
    #[serde(borrow)]
    pub recipient: Str<'a>,
    #[serde(borrow)]
    pub summary: Str<'a>,
    /// BashOutput; KillBash / KillShell
    #[serde(borrow)]
    pub bash_id: Str<'a>,
    #[serde(borrow)]
    pub shell_id: Str<'a>,
    /// TaskUpdate, TaskGet (`taskId`), TaskOutput, TaskStop (`task_id`):
    /// the task and what it becomes; TaskCreate: its subject
    #[serde(borrow, rename = "taskId")]
    pub task_id: Str<'a>,
    #[serde(borrow, rename = "task_id")]
    pub task_id_snake: Str<'a>,
    #[serde(borrow)]
    pub subject: Str<'a>,
    #[serde(borrow)]
    pub status: Str<'a>,
    /// TodoWrite
    #[serde(borrow)]
    pub todos: List<Obj<Todo<'a>>>,
    /// AskUserQuestion (`question` alone in older ones)
    #[serde(borrow)]
    pub questions: List<Obj<Question<'a>>>,
    #[serde(borrow)]
    pub question: Str<'a>,
}

/// A `worktree-state` line's worktree.
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
pub struct WorktreeSession<'a> {
    #[serde(borrow)]
    pub worktree_path: Str<'a>,
}

/// An item of TodoWrite's list.
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
pub struct Todo<'a> {
    #[serde(borrow)]
    pub content: Str<'a>,
    #[serde(borrow)]
    pub status: Str<'a>,
}

/// A question AskUserQuestion asks.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct Question<'a> {
    #[serde(borrow)]
    pub question: Str<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
pub struct ToolUseResult<'a> {
    #[serde(borrow)]
    pub agent_id: Str<'a>,
    #[serde(borrow)]
    pub status: Str<'a>,
    pub total_duration_ms: Field<Num>,
    pub total_tokens: Field<Num>,
    pub total_tool_use_count: Field<Num>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
pub struct CompactMeta<'a> {
    #[serde(borrow)]
    pub trigger: Str<'a>,
    pub pre_tokens: Field<Num>,
    pub post_tokens: Field<Num>,
    pub duration_ms: Field<Num>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
pub struct HookInfo<'a> {
    #[serde(borrow)]
    pub command: Str<'a>,
    pub duration_ms: Field<Num>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
pub struct ProgressData<'a> {
    #[serde(borrow, rename = "type")]
    pub kind: Str<'a>,
    #[serde(borrow)]
    pub hook_event: Str<'a>,
    #[serde(borrow)]
    pub hook_name: Str<'a>,
    #[serde(borrow)]
    pub command: Str<'a>,
    #[serde(borrow)]
    pub agent_id: Str<'a>,
    #[serde(borrow)]
    pub status: Str<'a>,
    #[serde(borrow)]
    pub server_name: Str<'a>,
    #[serde(borrow)]
    pub tool_name: Str<'a>,
    pub elapsed_time_ms: Field<Num>,
    pub elapsed_time_seconds: Field<Num>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
pub struct Attachment<'a> {
    #[serde(borrow, rename = "type")]
    pub kind: Str<'a>,
    #[serde(borrow)]
    pub hook_name: Str<'a>,
    #[serde(borrow)]
    pub hook_event: Str<'a>,
    #[serde(borrow, rename = "toolUseID")]
    pub tool_use_id: Str<'a>,
    pub exit_code: Field<Num>,
    #[serde(borrow)]
    pub command: Str<'a>,
    pub duration_ms: Field<Num>,
    #[serde(borrow)]
    pub stderr: Str<'a>,
    #[serde(borrow)]
    pub stdout: Str<'a>,
    #[serde(borrow)]
    pub blocking_error: Obj<BlockingError<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
pub struct BlockingError<'a> {
    #[serde(borrow)]
    pub blocking_error: Str<'a>,
    #[serde(borrow)]
    pub command: Str<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
pub struct Snapshot<'a> {
    #[serde(borrow)]
    pub message_id: Str<'a>,
    #[serde(borrow)]
    pub timestamp: Str<'a>,
    pub tracked_file_backups: KeyCount,
}
