//! ホーム: the review work waiting for this user (突合せ, 確認, 修正・削除の確認) with counts
//! and a way to each page; only the lists the user's roles may read are asked for.

use sesshu_domain::role::Role;
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use crate::api;
use crate::state::{Action, Page};
use crate::AppContext;
use sesshu_ipc::cmd;

/// The review pages a user holding `roles` may open, in navigation order.
pub fn review_pages(roles: &[Role]) -> Vec<Page> {
    [Page::Mismatch, Page::Verification, Page::Changes]
        .into_iter()
        .filter(|p| p.allowed(roles))
        .collect()
}

/// The count of waiting items of a review page (`None` while unknown or unreadable: the
/// page itself shows the reason).
async fn waiting(page: Page) -> Option<usize> {
    match page {
        Page::Mismatch => api::call::<cmd::MismatchList>(&())
            .await
            .ok()
            .map(|l| l.len()),
        Page::Verification => api::call::<cmd::VerificationQueue>(&())
            .await
            .ok()
            .map(|l| l.len()),
        Page::Changes => api::call::<cmd::ChangePendingList>(&())
            .await
            .ok()
            .map(|l| l.len()),
        _ => None,
    }
}

#[component]
pub fn ReviewPanel() -> Html {
    let app = use_context::<AppContext>();
    let pages = app
        .as_ref()
        .map(|a| review_pages(a.roles()))
        .unwrap_or_default();
    let counts = use_state(Vec::<(Page, Option<usize>)>::new);
    {
        let (counts, pages) = (counts.clone(), pages.clone());
        use_effect_with(pages.clone(), move |_| {
            spawn_local(async move {
                let mut out = Vec::new();
                for p in pages {
                    out.push((p, waiting(p).await));
                }
                counts.set(out);
            });
        });
    }
    let Some(app) = app else {
        return html! {};
    };
    if pages.is_empty() {
        return html! {};
    }
    let items = pages
        .iter()
        .map(|&page| {
            let count = counts
                .iter()
                .find(|(p, _)| *p == page)
                .and_then(|(_, c)| *c);
            let app = app.clone();
            let onclick = Callback::from(move |_: MouseEvent| app.dispatch(Action::Navigate(page)));
            let id = format!("home-{}", page.nav_id().trim_start_matches("nav-"));
            html! {
                <li>
                    <button type="button" class="button secondary small" id={id.clone()} {onclick}>
                        { page.title() }
                    </button>
                    <span class="count" id={format!("{id}-count")}>
                        { count.map_or_else(|| "…".to_string(), |c| format!("{c} 件")) }
                    </span>
                </li>
            }
        })
        .collect::<Html>();
    html! {
        <section class="panel" id="home-review" aria-labelledby="home-review-heading">
            <h2 id="home-review-heading">{ "確認の作業" }</h2>
            <ul class="home-review">{ items }</ul>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn review_work_follows_the_roles() {
        assert_eq!(
            review_pages(&[Role::Verifier]),
            vec![Page::Mismatch, Page::Verification, Page::Changes]
        );
        assert!(review_pages(&[Role::Keyer]).is_empty());
        assert!(review_pages(&[Role::Administrator, Role::SyncOperator]).is_empty());
    }
}
